"""The providers and people registers with their history: import (all or nothing, only the
changes recorded, each as a new version), the registers as they stood at any moment, and
export in the SPEC formats.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from gapmap.errors import InputError, Problem
from gapmap.store import schema as S
from gapmap.store.base import (
    ACTIVE,
    StoreBase,
    _chunks,
    _instant,
    _name,
    _none_nan,
    _plain,
    _utcnow,
)
from gapmap.store.engine import StoreError
from gapmap.vocab import days_text, services_text

_PROVIDER_FIELDS = (
    "name", "postcode", "x", "y", "service_mask", "day_mask", "capacity_hours",
    "committed_hours", "max_travel_km", "cover", "cqc_registered", "phone", "email", "website",
)  # fmt: skip
_PERSON_FIELDS = (
    "postcode", "x", "y", "hours", "day_mask", "service_mask", "max_travel_km", "priority",
    "needs_cover", "self_directing", "regulated_care",
)  # fmt: skip


#: Columns that would identify a person: a people register holding one is refused by import.
IDENTIFYING = (
    "name", "full_name", "first_name", "forename", "forenames", "surname", "last_name",
    "address", "address_line_1", "street", "date_of_birth", "dob", "nhs_number", "email",
    "phone", "telephone", "mobile",
)  # fmt: skip


def _identifying_columns(people, sheet) -> list[Problem]:
    """A problem for each column of a people file that would identify a person."""
    if people is None:
        return []
    from gapmap.io._tables import read_table

    try:
        columns = read_table(people, what="people", sheet=sheet).columns
    except InputError:
        return []  # Study.read reports it
    header = [str(c).strip().lower().replace(" ", "_") for c in columns]
    return [
        Problem(str(people), "the register database keeps people pseudonymous: remove this "
                "column (names, addresses, dates of birth and contact details are never "
                "stored)", row=1, column=c)
        for c in header if c in IDENTIFYING
    ]  # fmt: skip


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        fa, fb = float(a), float(b)
        return (math.isnan(fa) and math.isnan(fb)) or fa == fb
    return a == b


class RegistersMixin(StoreBase):
    """The versioned registers (part of :class:`~gapmap.store.Store`)."""

    def import_registers(
        self,
        providers: str | Path | None = None,
        people: str | Path | None = None,
        *,
        author: str,
        now: datetime | None = None,
        **read_options: Any,
    ) -> dict[str, dict[str, int]]:
        """Import registers (every SPEC format) in one transaction: all or nothing.

        The files are read and checked as :meth:`gapmap.Study.read` reads them (every problem
        of both at once, records outside every area included). Only the changes are recorded:
        providers (people) added, edited, and withdrawn (in the database but not in the file),
        each as a new version by ``author``.

        Parameters
        ----------
        providers, people
            The register files (either may be left out; that register is left as it was).
        author
            Who imports (recorded with every version).
        now
            The time recorded (default: now).
        **read_options
            The other inputs of the study read (:class:`~gapmap.inputs.StudyInputs`:
            ``areas``, ``council``, ``postcode_file``, ``providers_sheet``, ``people_sheet``,
            ``providers_layer``...), and ``settings``.

        Returns
        -------
        dict
            For each register imported: counts of ``added``, ``edited``, ``withdrawn``,
            ``unchanged``; for providers also ``referrals_to_withdrawn``, the pending or
            confirmed referrals that name a provider now withdrawn (to be reviewed).

        Raises
        ------
        InputError
            Every problem of the files; the database is left exactly as it was.
        """
        from gapmap.study import Study, StudyInputs

        author = _name(author, column="--as")
        if providers is None and people is None:
            raise StoreError("give a providers register, a people register or both")
        problems = _identifying_columns(people, read_options.get("people_sheet"))
        try:
            settings = read_options.pop("settings", None)
            inputs = StudyInputs(providers=providers, people=people, **read_options)
            study = Study.read(inputs, settings=settings)
        except InputError as exc:
            raise InputError(problems + exc.problems) from None
        if problems:
            raise InputError(problems)
        now = now or _utcnow()
        out: dict[str, dict[str, int]] = {}
        self.release_expired(now)
        with self._write(providers=providers is not None) as conn:
            self._lock_all(conn)
            if providers is not None:
                out["providers"] = self._merge(
                    conn, study.providers, S.provider_versions, "provider_id", _PROVIDER_FIELDS,
                    author, now,
                )  # fmt: skip
                out["providers"]["referrals_to_withdrawn"] = self._to_withdrawn(conn)
            if people is not None:
                out["people"] = self._merge(
                    conn, study.people, S.person_versions, "person_id", _PERSON_FIELDS, author,
                    now,
                )  # fmt: skip
            files = {"providers": str(providers or ""), "people": str(people or "")}
            self._log(conn, author, "import", {"files": files, "counts": out}, now)
        return out

    def _to_withdrawn(self, conn: Connection) -> int:
        """Pending or confirmed referrals naming a provider now withdrawn (to be reviewed)."""
        c, v = S.referrals.c, S.provider_versions.c
        gone = select(v.provider_id).where(v.valid_to.is_(None), v.withdrawn.is_(True))
        return int(
            conn.execute(
                select(func.count())
                .select_from(S.referrals)
                .where(
                    c.state.in_(ACTIVE),
                    or_(c.provider_id.in_(gone), c.partner_id.in_(gone), c.cover_id.in_(gone)),
                )
            ).scalar()
            or 0
        )

    def _merge(self, conn, frame, table, key, fields, author, now) -> dict[str, int]:
        c = table.c
        current = {
            r._mapping[key]: r._mapping
            for r in conn.execute(select(table).where(c.valid_to.is_(None)))
        }
        counts = {"added": 0, "edited": 0, "withdrawn": 0, "unchanged": 0}
        new_rows: list[dict] = []
        close_ids: list[int] = []
        seen = set()
        records = frame.to_dict("records")
        for rec in records:
            ident = str(rec[key])
            seen.add(ident)
            values = {f: _none_nan(_plain(rec[f])) for f in fields}
            values["row"] = int(rec.get("row", 0))
            old = current.get(ident)
            if old is not None and not old["withdrawn"]:
                if all(_same(old[f], values[f]) for f in fields):
                    counts["unchanged"] += 1
                    continue
                counts["edited"] += 1
                close_ids.append(old["version_id"])
            else:
                counts["added"] += 1
                if old is not None:
                    close_ids.append(old["version_id"])
            new_rows.append({key: ident, **values, "withdrawn": False})
        for ident, old in current.items():
            if ident not in seen and not old["withdrawn"]:
                counts["withdrawn"] += 1
                close_ids.append(old["version_id"])
                new_rows.append(
                    {key: ident, **{f: old[f] for f in fields}, "row": old["row"],
                     "withdrawn": True}
                )  # fmt: skip
        if key == "provider_id":
            known = set(conn.execute(select(S.providers.c.provider_id)).scalars())
            fresh = [{"provider_id": r[key], "created_at": now} for r in new_rows
                     if r[key] not in known]  # fmt: skip
            if fresh:
                conn.execute(insert(S.providers), fresh)
        for chunk in _chunks(close_ids, 500):
            conn.execute(update(table).where(c.version_id.in_(chunk)).values(valid_to=now))
        if new_rows:
            for r in new_rows:
                r.update(valid_from=now, valid_to=None, author=author)
            conn.execute(insert(table), new_rows)
        return counts

    def _versions(self, conn, table, t: datetime | None) -> list:
        c = table.c
        if t is None:
            cond = c.valid_to.is_(None)
        else:
            cond = and_(c.valid_from < t, or_(c.valid_to.is_(None), c.valid_to >= t))
        return conn.execute(
            select(table).where(cond, c.withdrawn.is_(False)).order_by(c.row, c.version_id)
        ).all()

    def registers(self, as_of: date | datetime | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The providers and people registers as they stood at the end of ``as_of`` (default
        now), in the columns of :func:`gapmap.read_providers` and :func:`gapmap.read_people`
        (the register's own ``committed_hours``)."""
        t = _instant(as_of)
        with self._read() as conn:
            prov = self._versions(conn, S.provider_versions, t)
            ppl = self._versions(conn, S.person_versions, t)
        return _providers_frame(prov), _people_frame(ppl)

    def export(
        self, out_dir: str | Path, as_of: date | datetime | None = None, *, fmt: str = "csv"
    ) -> list[Path]:
        """Write ``providers.csv`` and ``people.csv`` (or ``.xlsx``) in the SPEC format, as the
        registers stood at the end of ``as_of`` (default now): what :meth:`import_registers`
        reads back. Locations are written as the postcode and its easting and northing.

        Parameters
        ----------
        out_dir
            The folder (made if needed).
        as_of
            A day (its end) or a moment; default now.
        fmt
            ``csv`` or ``xlsx``.
        """
        from gapmap.publish.export import write_csv

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        prov, ppl = self.registers(as_of)
        tables = {"providers": _export_providers(prov), "people": _export_people(ppl)}
        paths = []
        for name, table in tables.items():
            if fmt == "xlsx":
                paths.append(_write_xlsx(table, out / f"{name}.xlsx", sheet=name))
            else:
                paths.append(write_csv(table, out / f"{name}.csv"))
        return paths


def _providers_frame(rows) -> pd.DataFrame:
    from gapmap.io.registers import empty_providers

    if not rows:
        return empty_providers()
    f = pd.DataFrame([dict(r._mapping) for r in rows])
    out = pd.DataFrame(
        {
            "provider_id": f["provider_id"].astype(str),
            "name": f["name"].astype(str),
            "postcode": f["postcode"].astype(str),
            "x": f["x"].astype(float),
            "y": f["y"].astype(float),
            "services": [services_text(int(m)) for m in f["service_mask"]],
            "service_mask": f["service_mask"].astype(np.int64),
            "days": [days_text(int(m)) for m in f["day_mask"]],
            "day_mask": f["day_mask"].astype(np.int64),
            "capacity_hours": f["capacity_hours"].astype(float),
            "committed_hours": f["committed_hours"].astype(float),
            "max_travel_km": f["max_travel_km"].astype(float),
            "cover": f["cover"].astype(bool),
            "cqc_registered": f["cqc_registered"].astype(bool),
            "phone": f["phone"].astype(str),
            "email": f["email"].astype(str),
            "website": f["website"].astype(str),
            "row": np.arange(2, len(f) + 2),
        }
    )
    return out


def _people_frame(rows) -> pd.DataFrame:
    from gapmap.io.registers import empty_people

    if not rows:
        return empty_people()
    f = pd.DataFrame([dict(r._mapping) for r in rows])
    return pd.DataFrame(
        {
            "person_id": f["person_id"].astype(str),
            "postcode": f["postcode"].astype(str),
            "x": f["x"].astype(float),
            "y": f["y"].astype(float),
            "hours": f["hours"].astype(float),
            "days": [days_text(int(m)) for m in f["day_mask"]],
            "day_mask": f["day_mask"].astype(np.int64),
            "services": [services_text(int(m)) for m in f["service_mask"]],
            "service_mask": f["service_mask"].astype(np.int64),
            "max_travel_km": pd.to_numeric(f["max_travel_km"]).astype(float),
            "priority": f["priority"].astype(np.int64),
            "needs_cover": f["needs_cover"].astype(bool),
            "self_directing": f["self_directing"].astype(bool),
            "regulated_care": f["regulated_care"].astype(bool),
            "row": np.arange(2, len(f) + 2),
        }
    )


def _export_providers(prov: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "provider_id": prov["provider_id"],
            "name": prov["name"],
            "postcode": prov["postcode"],
            "easting": prov["x"].round(2),
            "northing": prov["y"].round(2),
            "services": prov["services"],
            "days": prov["days"],
            "capacity_hours": prov["capacity_hours"],
            "committed_hours": prov["committed_hours"],
            "max_travel_km": prov["max_travel_km"],
            "cover": prov["cover"],
            "cqc_registered": prov["cqc_registered"],
            "phone": prov["phone"],
            "email": prov["email"],
            "website": prov["website"],
        }
    )


def _export_people(ppl: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "person_id": ppl["person_id"],
            "postcode": ppl["postcode"],
            "easting": ppl["x"].round(2),
            "northing": ppl["y"].round(2),
            "hours": ppl["hours"],
            "days": ppl["days"],
            "services": ppl["services"],
            "max_travel_km": ppl["max_travel_km"],
            "priority": ppl["priority"],
            "needs_cover": ppl["needs_cover"],
            "self_directing": ppl["self_directing"],
            "regulated_care": ppl["regulated_care"],
        }
    )


def _write_xlsx(table: pd.DataFrame, path: Path, *, sheet: str) -> Path:
    """A one-sheet workbook of a register: text cells are text, never formulas."""
    from openpyxl import Workbook

    from gapmap.publish.export import atomic_path, neutralise_formulas

    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(list(table.columns))
    for record in neutralise_formulas(table).itertuples(index=False):
        ws.append([_none_nan(_plain(v)) for v in record])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path
